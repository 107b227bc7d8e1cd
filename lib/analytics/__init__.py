"""Sales analytics: daily rollups (`rollups`), who sees what (`scope`), the reports
(`selectors`), their CSV form (`export`) and the role dashboards (`dashboards`)."""
