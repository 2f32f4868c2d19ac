"""Free-text assault locations to points: text normalisation (text), the gazetteer of places (gazetteer), the matcher (match), gazetteer files (files) and re-geocoding the stored records (rerun)."""
