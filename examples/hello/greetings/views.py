from django.shortcuts import render

from .models import Greeting


def index(request):
    return render(request, "greetings/index.html", {"count": Greeting.objects.count()})
