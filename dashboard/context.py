"""What a request needs from the app: the store and the settings, kept on the Flask app."""
from __future__ import annotations

from flask import current_app

from config import Config
from data.store import Store

STORE_KEY, CONFIG_KEY = "istv_store", "istv_config"


def current_store() -> Store:
    return current_app.extensions[STORE_KEY]


def current_config() -> Config:
    return current_app.extensions[CONFIG_KEY]
