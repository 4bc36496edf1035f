# Validation-only fixture: the deploy stops before this project is used.
