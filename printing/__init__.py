"""Receipts and invoices: ESC/POS bytes for thermal printers, PDFs, and the print queue.

The UI uses :class:`printing.service.PrintService`; everything else here is the
machinery behind it. Imports ``app`` only (checked by import-linter).
"""
