"""Task definitions. Each module holds one task family: a frozen config dataclass and a `Task` subclass."""
