"""Calendar providers behind one base class (``base.load``), the local busy mirror (sync)
and the writes of calls and prep blocks back to the lawyer's calendar."""
