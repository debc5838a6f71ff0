"""fairtrail review app (Streamlit): not built yet, see the project issues."""
