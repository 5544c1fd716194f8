"""Dialogs of the manager flows: payment plan, order edit, refund/deletion requests, PIN override."""
