"""The one error every importer raises for a file it cannot accept.

A reader stops at the first problem it finds. The caller (an import service) runs the
whole file inside one transaction, so a file that fails validation changes nothing; the
error says where to look: file, line, column and what was expected.
"""


class ImportValidationError(ValueError):
    """A file, line or cell that does not meet the format.

    `line` is the 1-based physical line (the header is line 1; for JSON Lines, the line of
    the object), or None for a problem with the file as a whole. `column` is the column
    (CSV header name, or JSON key) as spelled in the file, or None when the problem is not
    in one cell.

    >>> str(ImportValidationError("usage-2025-11.csv", 17, "UsageDate", "expected a date"))
    'usage-2025-11.csv, line 17, column UsageDate: expected a date.'
    """

    def __init__(self, file_name: str, line: int | None, column: str | None, message: str):
        self.file_name = file_name
        self.line = line
        self.column = column
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.file_name]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        text = self.message.rstrip()
        if not text.endswith((".", "?", "!")):
            text += "."
        return f"{', '.join(where)}: {text}"

    def __reduce__(self):
        return (type(self), (self.file_name, self.line, self.column, self.message))


class CellError(ValueError):
    """A cell parser's complaint, without the location: the reader that called the parser
    knows the file, line and column and turns it into an ImportValidationError."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)
