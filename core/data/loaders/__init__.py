"""One loader per input format; each is a pure function `folder -> Dataset`."""
