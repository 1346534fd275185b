"""The charging domain: the sample landing-zone generator and the report files for CPO staff."""
