"""Rules: which alerts aiops-responder handles, and how: model, loader, matcher, templates."""
