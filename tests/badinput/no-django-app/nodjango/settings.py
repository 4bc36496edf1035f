# Validation-only fixture.
