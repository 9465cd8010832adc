import sys

from django.core.management.base import BaseCommand

from greetings.models import Greeting


class Command(BaseCommand):
    help = "Print how many greetings there are; exit with --exit-code (to test that dz passes exit codes on)."

    def add_arguments(self, parser):
        parser.add_argument("--exit-code", type=int, default=0)

    def handle(self, *args, **options):
        self.stdout.write(f"greetings: {Greeting.objects.count()}")
        self.stderr.write("greet: done")
        sys.stdout.flush()
        sys.exit(options["exit_code"])
