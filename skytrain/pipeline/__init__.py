"""The deploy pipeline: validate, then each environment's stage behind the previous gate."""
