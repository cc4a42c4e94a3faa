"""Pure functions of two versions: the clause diff and the topic tagger (with its rules)."""
