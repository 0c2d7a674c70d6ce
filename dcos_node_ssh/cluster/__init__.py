"""The cluster API: HTTP transport (with proxies and one deadline) and the DC/OS and Mesos queries."""
