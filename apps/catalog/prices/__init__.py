"""Sales prices: the rules (`rules`, and `month_prices` for many months at once), the
changes and their audit entries (`services`), and the price screens (`forms`, `tables`,
`views`, `urls`).

Nothing is imported here: import the module you need (`apps.catalog.prices.rules`, ...).
"""
