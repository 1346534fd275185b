"""Loading a project: dbt_project.yml, models, seeds, macros and YAML property files."""
