"""Use cases. Each function takes the Database (and the viewer) and holds the rules;
the API and web layers only parse, call one of these, and render."""
