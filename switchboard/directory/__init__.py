"""The directory: tenants, groups, departments, domains, end users and service users."""
