import os

from django.shortcuts import render

from .models import Greeting


def index(request):
    count = Greeting.objects.count()
    # Goes to the instance's log (gunicorn --capture-output): `dz logs` shows it.
    print(f"hello: served the index, {count} greetings", flush=True)
    greeting = os.environ.get("HELLO_GREETING", "Hello from dz")
    return render(request, "greetings/index.html", {"count": count, "greeting": greeting})
