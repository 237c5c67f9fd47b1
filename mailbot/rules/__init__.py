"""The administrators' rule files and templates: loading, validating, the directories."""
