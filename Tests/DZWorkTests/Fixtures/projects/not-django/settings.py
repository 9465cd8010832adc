DEBUG = True
SECRET_KEY = "not-a-secret"
