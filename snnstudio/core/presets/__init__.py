"""Named experiment presets shipped with snnstudio (`snnstudio run --preset NAME`)."""
