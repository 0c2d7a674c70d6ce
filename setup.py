from setuptools import find_packages, setup

with open("dcos_node_ssh/__init__.py", encoding="utf-8") as stream:
    VERSION = next(line.split('"')[1] for line in stream if line.startswith("__version__"))

with open("README.rst", encoding="utf-8") as stream:
    LONG_DESCRIPTION = stream.read()

setup(
    name="dcos-node-ssh",
    version=VERSION,
    description="dcos node ssh: SSH to any DC/OS master or agent, directly or through a proxy hop",
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/x-rst",
    license="Apache-2.0",
    packages=find_packages(include=["dcos_node_ssh", "dcos_node_ssh.*"]),
    python_requires=">=3.9",
    install_requires=[
        "docopt-ng>=0.9",
        "ClusterShell>=1.9",  # NodeSet, to fold node lists in `dcos node run`
        "tomli>=1.1; python_version < '3.11'",
    ],
    entry_points={"console_scripts": ["dcos-node = dcos_node_ssh.app:run"]},
    classifiers=[
        "Environment :: Console",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Topic :: System :: Systems Administration",
    ],
)
