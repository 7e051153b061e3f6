"""Controllers that move balancing devices (§5.3.6). Every command passes :mod:`.safety`."""
