from django.conf import settings
from django.http import HttpResponse

from .models import Order


def index(request):
    # Unbuffered (dz sets PYTHONUNBUFFERED): this line is in `dz logs` at once.
    print("shop: index asked for the latest order")
    if settings.BREAK == "view":
        latest = Order.objects.get(pk=1042)  # there is none: Order.DoesNotExist, HTTP 500
        return HttpResponse("latest order: %d\n" % latest.total)
    return HttpResponse("orders: %d\n" % Order.objects.count())


def healthz(request):
    return HttpResponse("ok\n")
