"""What people read: feeds, change pages, reports, terminal rendering, notifications."""
