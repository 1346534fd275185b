"""dbt packages: packages.yml resolved (the hub, git, local), installed into dbt_packages/
by `runner deps`, and the installed packages joined to the project."""
