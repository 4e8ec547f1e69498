"""The message catalogs (``zh_CN``, ``en``): shipped in the wheel as package data beside the
``bot`` package, where ``bot/i18n.py`` reads them (the ``.mo`` when it was compiled before the
build, else the ``.po``, compiled in memory at start-up), so a non-editable install speaks
Chinese too."""
