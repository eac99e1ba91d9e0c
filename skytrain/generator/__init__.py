"""`skytrain new`, the project generator (the talk's `./project-generator`): a service
repository from `skeleton-vars.yml` (or the same values as flags) and the skeletons under
templates/skeletons/.

skeleton-vars.yml may come from anyone (a template repository, a chat message), so its
values are checked against schemas/skeleton-vars.schema.json before anything is written,
the templates run in Jinja2's sandbox with every variable required, and values are only
ever inserted as data: into YAML as quoted strings, into code only the name, whose rule
leaves nothing to escape.
"""
