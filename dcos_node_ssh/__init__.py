"""dcos-node-ssh: the `dcos node ssh` subcommand of the DC/OS CLI."""

__version__ = "0.1.0"
