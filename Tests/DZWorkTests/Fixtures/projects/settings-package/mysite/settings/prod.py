from .base import *

ALLOWED_HOSTS = ["www.example.com"]
