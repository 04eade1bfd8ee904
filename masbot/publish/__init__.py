"""The public site: an index, a permalink page per appeal with its signed revisions, a "how to
check an appeal" page, the society's key and an Atom feed, written as static files."""
