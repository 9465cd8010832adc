from setuptools import find_packages, setup

REQUIRES = ["Django>=3.2,<4", "psycopg2>=2.8"]

setup(
    name="inventory",
    version="1.0",
    packages=find_packages(),
    install_requires=REQUIRES,
    python_requires=">=3.8",
)
