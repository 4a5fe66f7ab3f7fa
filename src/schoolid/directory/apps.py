from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "schoolid.directory"
    label = "directory"
