"""Evidence: statements mapped to the items of a framework, by rule or by hand;
reflections; coverage."""
