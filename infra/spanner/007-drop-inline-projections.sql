-- The inline views of 003 are gone (ADR 0009): the executor folds the hash index from the log and
-- checkpoints it, so no view is updated in the append's transaction. RunProgress was also a hot
-- row: every batch answer of a computation updated it.
DROP TABLE RunProgress;
DROP TABLE HashIndex;
