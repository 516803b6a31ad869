"""The operator console's domain side: WTForms forms and the data queries only the console needs."""
