# The image compose.yaml runs: Sanad with the CPU build of PyTorch.
FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir .
CMD ["sanad", "run"]
