# Validation-only fixture: a project whose requirements pin neither Django nor a connector.
# os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nodjango.settings")
