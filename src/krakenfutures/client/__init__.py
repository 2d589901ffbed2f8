"""The REST client: :class:`Client` (sync) and :class:`AsyncClient`, thin core + transport."""
