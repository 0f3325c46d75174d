"""Factories for deployment rows, so tests of pages, API and streaming need not go through the
launch flow (which has its own tests)."""

import factory

from deployments.models import Deployment, DeploymentTemplate, DesiredState, Status
from providers.models import ProviderCredential


class CredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderCredential

    provider = "runpod"
    label = "Test account"


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deployment

    credential = factory.SubFactory(CredentialFactory, workspace=factory.SelfAttribute("..workspace"))
    provider = factory.SelfAttribute("credential.provider")
    name = factory.Sequence(lambda n: f"job-{n}")
    offer_id = "COMMUNITY|1|NVIDIA GeForce RTX 4090"
    gpu_model = "rtx-4090"
    gpu_name = "RTX 4090"
    gpu_count = 1
    vram_gb = 24
    price_per_hour = 0.44
    image = "vllm/vllm-openai:latest"
    ports = [8000]
    desired_state = DesiredState.RUNNING
    status = Status.RUNNING


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeploymentTemplate

    slug = factory.Sequence(lambda n: f"tpl-{n}")
    name = factory.Sequence(lambda n: f"Template {n}")
    image = "python:3.12-slim"
    command = ["python", "-m", "http.server", "8000"]
    local_command = ["python", "-m", "http.server", "8000"]
    ports = [8000]
