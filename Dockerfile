# Encore in a container: Debian 12, built with the same script as CI.
FROM debian:12
WORKDIR /src/encore
COPY . .
RUN bash -c 'source tools/deps.sh && encore_install_deps' && \
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && \
    cmake --build build --target encored encore
EXPOSE 8080
VOLUME /data
# Mount a rules directory at /rules and a keys file at /keys; data lives in /data.
ENTRYPOINT ["/src/encore/build/tools/encored", "--data", "/data", "--rules", "/rules", \
            "--keys", "/keys", "--listen", "0.0.0.0:8080"]
