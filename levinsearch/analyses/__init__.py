"""Analyses shared by domains of one kind (the engine's side: they read what a domain
hands them, never a domain's DSL). `prediction`: Occam, MAP vs mixture, rare defectors
and consensus for every domain whose behaviour is a continuation (seq, tm)."""
