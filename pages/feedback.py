"""Feedback: the thumbs up/down given on explanation cards, per model and explainer, as CSV."""

import streamlit as st

from app import links, state, workspace
from core.safe_text import md
from core.store.feedback import describe_database, export_csv, feedback_frame, feedback_summary

st.title("Feedback")
engine = state.feedback_db(workspace.feedback_database())
frame = feedback_frame(engine)
st.caption(f"Votes are stored in: {md(describe_database(engine))}")
if frame.empty:
    st.info("No feedback yet: rate an explanation card in the User explorer.")
else:
    st.metric("Votes", len(frame))
    st.subheader("Per model and explainer")
    st.dataframe(feedback_summary(frame), hide_index=True)
    st.subheader("All feedback")
    st.dataframe(frame.sort_values("id", ascending=False), hide_index=True)
    st.download_button(
        "Export CSV",
        export_csv(engine),
        file_name="reclens-feedback.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )
links.show()
