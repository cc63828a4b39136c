"""Helpers of :mod:`jazari_nlp.models`: token-level scoring (plain and with prefix reuse) and a tiny test model."""
