"""The queue server: store-and-forward one-way queues over HTTPS, with no accounts."""
