"""Where documents and history come from: declarations, Open Terms Archive declarations and versions."""
