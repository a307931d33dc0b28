"""Word lists and the README template used by `core.data.sample` (all names are made up,
except the genres, decades and countries)."""

ADJECTIVES = tuple(
    """Silent Crimson Hollow Golden Broken Distant Quiet Burning Frozen Hidden Lonely
Restless Savage Secret Shattered Wandering Electric Velvet Iron Paper Glass Northern Endless Fading
Wild Bitter Scarlet Pale Sleeping Forgotten Silver Final Lost Painted Sunken Stolen Gentle Hungry
Amber Borrowed Crooked Drowned Emerald Faithful Gilded Lucky Marble Narrow Open Patient Rusted
""".split()
)

NOUNS = tuple(
    """Harbor Garden Signal Mirror River Lantern Orchard Empire Horizon Letter Witness
Stranger Tide Comet Kingdom Frontier Hour Promise Shadow Voyage Archive Bridge Canyon Compass Crown
Echo Engine Fever Harvest Island Labyrinth Meadow Orbit Pilgrim Quarry Ransom Sparrow Summer Tower
Verdict Winter Wolf Carnival Machine Season Lighthouse Parade Ballad Circus Detective Dynasty
Gambit Heiress Journey Monsoon Outpost Requiem Serenade
""".split()
)

PLACES = tuple(
    p.replace("_", " ")
    for p in """Kestrel Alder_Bay Marrow_Hill Port_Avalon Vellmar
Coldwater Eastbrook Saltmarsh Lindenfeld Ravenna_Point Cobalt_City Wren_Valley Halcyon Thornbury
Silverlake Dunmore Greyhaven Larkspur Elmstead Blackmoor Juniper_Flats Fairhaven Glenrock
Morrow_Island Copperton Ashby Northgate Redwater Calloway Brightwater""".split()
)

TIMES = tuple("Midnight Dawn Dusk Thunder Smoke Rain Snow Fire Moonlight Silence Storm".split())

TITLE_PATTERNS = (
    "The {adj} {noun}",
    "{adj} {noun}",
    "{noun} of {place}",
    "The {noun} of {place}",
    "{time} Over {place}",
    "{time} in {place}",
    "A {noun} for {place}",
    "The Last {noun}",
    "{noun} and {noun2}",
    "The {adj} {noun} of {place}",
    "Return to {place}",
    "{time} and the {noun}",
)

FIRST_NAMES = tuple(
    """Ava Bruno Celia Dario Elin Felix Greta Hugo Ines Jonas Kira Leon Mara Nils
Olga Pavel Quinn Rosa Soren Tova Ugo Vera Wim Xenia Yusuf Zora Amara Basil Clara Dmitri Esme Farid
Gisela Hamid Ida Jasper Kofi Lena Milo Nadia Otto Priya Rafael Selma Tomas Ulla Viktor Wren Yara
Anton Beatrix Cyrus Delphine Emil Freya Goran Hana Ivo Juno Kasimir Lucia Matteo Noor""".split()
)

LAST_NAMES = tuple(
    """Lindqvist Moreau Castellano Okafor Brandt Nakamura Petrov Halloran Vasquez
Sorensen Adeyemi Falk Marchetti Kowalski Dubois Tanaka Oyelaran Novak Eriksen Ferreira Albrecht
Ibsen Kaur Lachance Morozov Quist Rahimi Santoro Takahashi Ulrich Varga Whitlock Yilmaz Zeller
Abernathy Bellweather Corvino Delacroix Engstrom Fairbanks Grimaldi Holloway Isaksen Janssen Kessler
Lombardi Mendoza Nordahl Oduya Pellegrini Renwick Strand Thornquist Valdez Weston Arkwright
Blomqvist Carrow Dunleavy Esposito""".split()
)

GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Biography",
    "Comedy",
    "Coming of Age",
    "Courtroom Drama",
    "Crime",
    "Disaster",
    "Documentary",
    "Drama",
    "Espionage",
    "Family",
    "Fantasy",
    "Film Noir",
    "Heist",
    "History",
    "Horror",
    "Martial Arts",
    "Musical",
    "Mystery",
    "Neo-Western",
    "Psychological Thriller",
    "Road Movie",
    "Romance",
    "Satire",
    "Science Fiction",
    "Space Opera",
    "Sport",
    "Thriller",
    "War",
    "Western",
)

STUDIOS = (
    "Northwind Pictures",
    "Blue Heron Studios",
    "Lantern House Films",
    "Copperleaf Pictures",
    "Red Kite Films",
    "Meridian Pictures",
    "Stonebridge Studios",
    "Tidewater Films",
    "Silver Birch Pictures",
    "Foxglove Films",
    "Harborlight Studios",
    "Ironwood Pictures",
    "Paper Moon Films",
    "Quillon Studios",
    "Saltbox Pictures",
    "Starling Films",
    "Twelve Oaks Pictures",
    "Amberfield Studios",
    "Greywolf Films",
    "Oriel Pictures",
)

COUNTRIES = (
    "United States",
    "United Kingdom",
    "France",
    "Germany",
    "Italy",
    "Spain",
    "Japan",
    "South Korea",
    "India",
    "Sweden",
    "Denmark",
    "Mexico",
    "Brazil",
    "Canada",
    "Australia",
)

README = """# RecLens sample dataset

A small, made-up movie catalogue that RecLens uses as its default dataset. Everything here is
generated: titles, people and studios are invented from word lists (genres, decades and countries
are ordinary words). It is in RecLens's CSV-folder format, so `core.data.load_dataset("sample")`
and `python -m core stats sample` read it.

Do not edit these files by hand: they are the output of a deterministic generator, and a test
(`tests/test_sample.py`) regenerates them and checks they are byte-identical. To regenerate:

    python -m core.data.sample sample_data

(numpy Generator, seed {cfg.seed}; see `SampleConfig` in `core/data/sample.py`.)

## Counts

| users | items | interactions | entities (incl. items) | relations | KG triples | planted drivers |
|------:|------:|-------------:|-----------------------:|----------:|-----------:|----------------:|
| {users} | {items} | {interactions} | {entities} | {relations} | {triples} | {drivers} |

## Files

- `interactions.csv` - `user,item,rating,timestamp`: ratings 1-5, Unix timestamps (seconds,
  UTC), strictly increasing within each user. Each user has between {cfg.min_interactions} and
  {cfg.max_interactions} interactions, most near the low end (a long tail of heavy users).
- `items.csv` - `item,title,year,genre,director,studio,country`: genres joined by `|`. These
  columns repeat, for display, what `kg.csv` says.
- `kg.csv` - `head,relation,tail`: every head is an item. Relations: `genre` (1-3 per item),
  `directed_by` (1), `starring` (3-5), `decade` (1), `studio` (1), `country` (1).
- `entities.csv` - `entity,name`: display names of the non-item entities. Entity ids carry their
  kind as a prefix (`director:Ava Lindqvist`, `genre:Film Noir`, `decade:1990s`).
- `ground_truth.csv` - `user,driver,relation`: the planted taste drivers (see below).

## How it is generated

1. **Catalogue.** Each invented director has favourite genres, a home studio and country, a career
   era and a troupe of actors; their films mostly follow these, so entities are correlated as in
   real catalogues (a director's actors and genres co-occur). Item popularity is Zipf-like
   (exponent {cfg.popularity_exponent}) over a random ranking.
2. **Drivers.** Each user gets 1-3 taste drivers: KG entities drawn among directors (40%), actors
   (30%), studios (15%) and genres (15%), weighted by how many items they are linked to; people
   qualify only with at least {cfg.min_driver_items} items. A further driver is added (up to 3)
   while the drivers' items number fewer than 25.
3. **Interactions.** A user's driver share is drawn from a Beta distribution (mean
   {cfg.driver_share}); that share of their history is drawn from the items linked to a driver
   (favouring popular ones), the rest from the whole catalogue by popularity, and the two are
   interleaved in time. Driver items get higher ratings (mostly 4-5) than noise items (mostly 2-4).

## Ground-truth semantics

A row `{ex_user},{ex_driver},{ex_rel}` means that user {ex_user}'s interactions were planted
to favour items `m` with a triple `m,{ex_rel},{ex_driver}`.

Across all users, {share:.1f}% of interactions are with an item linked to one of that user's
drivers (noise draws can also land on driver items).

An explanation of a recommendation for user `u` recovers the ground truth when it credits one of
`u`'s drivers, e.g. a KG path `u -> history item -> driver -> item`. Drivers are not the only
structure: a director's troupe and genres are over-represented in a
director fan's history too, so a perfect score is not expected.
"""
